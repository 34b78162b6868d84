// The health module's public surface (@app/health): the base class of every feature's health indicator.
export * from './health-indicator';
