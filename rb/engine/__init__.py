"""The execution engine: an asyncio scheduler over the step DAG.

It publishes events and returns an `ExecutionResult`; it renders and stores
nothing itself. Every effect goes through the run's World.
"""
