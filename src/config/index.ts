// Configuration: one YAML file, one schema, errors with file:line:column and a hint.
export { ConfigError, type ConfigIssue } from './config-error.js';
export { loadConfig, type ParseConfigOptions, parseConfig } from './load.js';
export { redactConfig } from './redact.js';
export { defaultPort } from './schema-sections.js';
export type {
  AlertsConfig,
  CatchAllConfig,
  Config,
  DeliveryConfig,
  EnvelopeSender,
  MailboxConfig,
  ReceiveConfig,
  SchedulerConfig,
  TargetConfig,
  TlsMode,
  WebConfig,
} from './types.js';
export { formatDuration, parseDuration, parseSize } from './units.js';
