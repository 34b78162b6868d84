import { Injectable, PipeTransform } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsString, Matches } from 'class-validator';
import { ValidationFailedError } from '@app/validation';

/** A building id as it may appear in a path and a cache key. */
export const BUILDING_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const BUILDING_ID_MESSAGE =
  'each building id must be 1–128 characters of A-Z a-z 0-9 . _ : - (starting alphanumeric)';

/**
 * The `:buildingId` path parameter. A regex check instead of a class-validated DTO: this runs on every
 * building lookup (the hot path), and class-transformer + class-validator cost ~5 % of its CPU
 * (test/load/reports/building-benchmark.md). Same 400 VALIDATION_FAILED body as the global pipe.
 */
@Injectable()
export class BuildingIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (typeof value === 'string' && BUILDING_ID_PATTERN.test(value)) return value;
    throw new ValidationFailedError({ buildingId: [BUILDING_ID_MESSAGE] });
  }
}

/** POST /buildings/cache/invalidate and /buildings/cache/warm */
export class BuildingIdsDto {
  @ApiProperty({ type: [String], minItems: 1, maxItems: 500, example: ['bld-001', 'bld-002'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(500)
  @IsString({ each: true })
  @Matches(BUILDING_ID_PATTERN, { each: true, message: BUILDING_ID_MESSAGE })
  buildingIds!: string[];
}
