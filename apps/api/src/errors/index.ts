// The error contract's public surface (@app/errors): AppError and its fault, the error body, the global exception filter's hooks.
export * from './all-exceptions.filter';
export * from './app-error';
export * from './error-body';
export * from './capacity';
