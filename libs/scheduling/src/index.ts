export * from './fair-pool';
