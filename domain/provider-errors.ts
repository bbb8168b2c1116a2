// The kinds of provider failure, each once, with what a retry can do about it. Adapters classify into
// these kinds (providers/errors.ts); the retry table's non-retryable error types and the circuit
// breaker's failure count are read from the same rows, so no second list can drift from this one.

interface ProviderErrorKindTraits {
  /** Another attempt may succeed (the provider was busy, down or unreachable), so Temporal retries. */
  retryable: boolean;
  /** The provider itself is unwell: the failure counts toward opening its circuit breaker. */
  providerUnwell: boolean;
}

export const PROVIDER_ERROR_KINDS = {
  decline: { retryable: false, providerUnwell: false },
  validation: { retryable: false, providerUnwell: false },
  authentication: { retryable: false, providerUnwell: false },
  conflict: { retryable: false, providerUnwell: false },
  not_found: { retryable: false, providerUnwell: false },
  unsupported: { retryable: false, providerUnwell: false },
  // A rate limit says the provider is healthy and busy; its Retry-After sets the next attempt.
  rate_limited: { retryable: true, providerUnwell: false },
  unavailable: { retryable: true, providerUnwell: true },
  timeout: { retryable: true, providerUnwell: true },
  network: { retryable: true, providerUnwell: true },
  // Our own breaker failing fast: the next attempt comes when it may close.
  circuit_open: { retryable: true, providerUnwell: false },
} as const satisfies Record<string, ProviderErrorKindTraits>;

export type ProviderErrorKind = keyof typeof PROVIDER_ERROR_KINDS;

const KINDS = Object.keys(PROVIDER_ERROR_KINDS) as ProviderErrorKind[];

/** The ApplicationFailure type a provider failure of this kind reaches Temporal as. */
export const providerFailureType = (kind: ProviderErrorKind): string => `ProviderError.${kind}`;

/** Error types (ApplicationFailure.type) that no retry can fix. */
export const NON_RETRYABLE_PROVIDER_ERRORS: string[] = KINDS.filter((kind) => !PROVIDER_ERROR_KINDS[kind].retryable).map(providerFailureType);
