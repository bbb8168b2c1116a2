export * from './payments';
export * from './webhooks';
export * from './inventory';
