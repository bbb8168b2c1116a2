export * from './payments';
export * from './webhooks';
