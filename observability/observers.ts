// What the application reports as it works. Activities, the webhook routes and the delivery call these
// hooks; observability/metrics.ts implements them with prom-client, so no application code imports it.

export interface ProviderCallObserver {
  onCall?(provider: string, operation: string, outcome: string, seconds: number): void;
  onRetry?(provider: string, operation: string, attempt: number): void;
}

export interface WebhookObserver {
  onReceived?(provider: string, outcome: 'accepted' | 'duplicate' | 'rejected' | 'unavailable'): void;
}

export interface DeliveryObserver {
  onDelivered?(provider: string, outcome: string, lagSeconds: number): void;
  onFailed?(provider: string): void;
  /** Delivery stopped retrying a row on its own: parked (waited too long) or failed (errored too often). */
  onGivenUp?(provider: string, status: 'parked' | 'failed'): void;
}
