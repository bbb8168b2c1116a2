export { paymentWorkflow } from '../../workflows/payments/payment';
export { baselineWorkflow } from './baseline';
