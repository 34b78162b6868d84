// Request validation's public surface (@app/validation): the validation pipe and its error, the media-type decorator.
export * from './media-type';
export * from './validation';
