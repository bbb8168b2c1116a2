// The task queue every Skerry workflow runs on; the worker polls it and the clients start workflows on
// it (TEMPORAL_TASK_QUEUE overrides it). Provider activities run on queues derived from it
// (`<queue>--<provider>`). Its value keeps the name the first release gave it: running workflows and
// their recorded histories are bound to it, and docs/operations.md says how to move to another name.
export const WORKFLOW_TASK_QUEUE = 'skerry-payments';
