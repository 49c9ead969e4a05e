"""The World: every effect a run has on (or reads from) the outside.

HTTP, SQL, shell, screenshots, the clock, sleeping and ids are reached only
through the World handed to a run. `LiveWorld` does the real thing;
`FixtureWorld` serves everything from a golden fixture in virtual time. Step
code never knows which one it has.
"""
