// The workflowsPath entry: every workflow type the worker registers.
export { paymentWorkflow } from './payments/payment';
