/** A configuration that cannot start: the message names every offending variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The message shape every refusal shares, so operators can grep for the variable's name. */
export const invalid = (variable: string, reason: string) => new ConfigError(`Invalid configuration:\n  ${variable}: ${reason}`);
