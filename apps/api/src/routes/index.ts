// What routes declare (@app/routes): the API prefix, route metadata read once.
export * from './api-prefix';
export * from './route-metadata';
