import { Injectable } from '@nestjs/common';
import type { JobError } from './worker/protocol';

/**
 * What a feature registers with the extraction module (ExtractionModule.forFeature): the child-side module
 * that handles its job kinds, and how the failures its handlers throw become the feature's own errors in
 * the API process.
 */
export interface ExtractionFeature {
  /**
   * Absolute path of the handler module, as `require.resolve('./<name>.extraction-jobs')` gives it (the .ts
   * file under a TypeScript loader, the .js file in dist). It exports `extractionJobs` (ExtractionJobHandlers)
   * and imports `@app/extraction` for types only: the child has no path aliases.
   */
  jobs: string;
  /**
   * A handler's error, by its `name` (JobError.name), → the error a caller of ExtractionService.run gets.
   * A name no feature maps, or a mapping that answers undefined, is ExtractionError('parse_error').
   */
  errors?: Readonly<Record<string, (error: JobError) => Error | undefined>>;
}

/**
 * The features' registrations, collected while the application starts (each forFeature import adds its own)
 * and read when a child is spawned — children start on the first job, after start-up.
 */
@Injectable()
export class ExtractionJobRegistry {
  private readonly modules: string[] = [];
  private readonly errors = new Map<string, (error: JobError) => Error | undefined>();

  add(feature: ExtractionFeature): void {
    if (!this.modules.includes(feature.jobs)) this.modules.push(feature.jobs);
    for (const [name, translate] of Object.entries(feature.errors ?? {})) {
      const known = this.errors.get(name);
      if (known && known !== translate)
        throw new Error(`extraction error ${name} is mapped by two features (${feature.jobs})`);
      this.errors.set(name, translate);
    }
  }

  /** The handler modules, as the child's arguments. */
  modulePaths(): readonly string[] {
    return this.modules;
  }

  /** The registered error a handler's failure becomes, if a feature mapped its name. */
  translate(error: JobError): Error | undefined {
    return this.errors.get(error.name)?.(error);
  }
}
