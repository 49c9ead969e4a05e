"""The GraphQL schema (SDL): the seed's contract, and what it leaves open.

The seed gives Runbook, RunbookExecution, ExecutionStatus and the Query and
Mutation extensions below, verbatim except that `executeRunbook` takes an
optional `fixture` (a fixture file in the project, as in REST; without it
the run is live) and an optional `environment` (whose `access:` rules apply).
rb adds the base Query and Mutation types, the scalars, the two types the
seed names but does not define (RunbookStep, StepLog), and a few fields of
its record at the end.
"""

from __future__ import annotations

SDL = """
"An ISO 8601 date and time with its UTC offset, e.g. 2025-11-29T10:00:00+00:00."
scalar DateTime

"Any JSON value."
scalar JSON

type Query
type Mutation

type Runbook {
  id: ID!
  name: String!
  version: String!
  owner: String!
  legalBasis: String
  steps: [RunbookStep!]!
}

type RunbookExecution {
  id: ID!
  runbookId: ID!
  status: ExecutionStatus!
  startedAt: DateTime!
  completedAt: DateTime
  stepLogs: [StepLog!]!
  kpis: JSON
  "KPIs the run missed; a SUCCESS with any here completed but breached them."
  kpisBreached: [String!]!
  "How many times the execution was started: a resume or retry adds one (docs/durability.md)."
  runAttempt: Int!
  "What a WAITING execution waits for: [{kind: approval|event|pause, step_id, ...}]."
  waitingFor: JSON!
}

enum ExecutionStatus {
  RUNNING
  SUCCESS
  FAILURE
  ABORTED
  "Durable executions (docs/durability.md): accepted and not started yet."
  QUEUED
  "Parked: waits for an approval, an event, or a resume after a pause."
  WAITING
  CANCELLED
  TIMED_OUT
}

extend type Query {
  runbook(id: ID!): Runbook
  runbookExecution(id: ID!): RunbookExecution
}

extend type Mutation {
  executeRunbook(id: ID!, inputs: JSON, fixture: String, environment: String): RunbookExecution!
  replayExecution(executionId: ID!): RunbookExecution!
}

"A step as the runbook declares it."
type RunbookStep {
  id: ID!
  type: String!
  description: String!
  dependsOn: [ID!]!
  "abort, log_and_continue or rollback"
  onFailure: String!
  timeoutSeconds: Float
  "The step's inputs as written (secrets appear only as references)."
  inputs: JSON
}

"What one step did in an execution."
type StepLog {
  stepId: ID!
  "succeeded, failed or skipped"
  status: String!
  attempts: Int!
  startedAt: DateTime
  completedAt: DateTime
  durationSeconds: Float
  summary: String
  error: String
  skipReason: String
  inputs: JSON
  outputs: JSON
}

extend type RunbookExecution {
  runbookVersion: String!
  "live, fixture or replay"
  world: String!
  actor: String!
  error: String
  durationSeconds: Float
  "The execution this one replayed."
  replayOf: ID
  "For a replay: whether it matched the original, step by step."
  replay: JSON
}

"What became of an answer to a waiting run (docs/waiting.md)."
type WaitAnswer {
  "The run it was for; null for an event no run waits for yet (it is kept)."
  executionId: ID
  step: String
  "Who answered: the name of the request's token."
  by: String!
  "Whether it completes what the run waits for."
  complete: Boolean!
  "Whether the run went on (was resumed) because of it."
  resumed: Boolean!
  "The resumed run's status."
  status: String
  note: String!
}

extend type Mutation {
  "Approve or reject an approval step: decision is approve or reject."
  decideApproval(executionId: ID!, decision: String!, step: String, comment: String): WaitAnswer!
  "Send an event; a run parked waiting for its name and key goes on."
  sendEvent(name: String!, key: String!, data: JSON, keepSeconds: Float): WaitAnswer!
}
"""
