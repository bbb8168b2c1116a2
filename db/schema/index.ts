export * from './payments';
export * from './webhooks';
export * from './inventory';
export * from './resilience';
export * from './reconciliation';
export * from './access';
