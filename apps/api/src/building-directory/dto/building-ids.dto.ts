import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsString, Matches } from 'class-validator';

/** A building id as it may appear in a path and a cache key. */
export const BUILDING_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const BUILDING_ID_MESSAGE =
  'each building id must be 1–128 characters of A-Z a-z 0-9 . _ : - (starting alphanumeric)';

export class BuildingParamsDto {
  @ApiProperty({ example: 'bld-001' })
  @Matches(BUILDING_ID_PATTERN, { message: BUILDING_ID_MESSAGE })
  buildingId!: string;
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
