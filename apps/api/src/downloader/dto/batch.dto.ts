import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { DownloadFormat, FORMATS } from '../formats';

export class BatchUrlDto {
  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(8192)
  url!: string;

  @ApiPropertyOptional({ enum: FORMATS })
  @IsOptional()
  @IsIn(FORMATS)
  format?: DownloadFormat;
}

export class BatchRequestDto {
  @ApiProperty({ type: [BatchUrlDto], description: '1..BATCH_MAX_URLS (default 100)' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000) // the configured BATCH_MAX_URLS (≤ 1000) is checked by the service
  @ValidateNested({ each: true })
  @Type(() => BatchUrlDto)
  urls!: BatchUrlDto[];

  @ApiPropertyOptional({ enum: FORMATS, default: 'text' })
  @IsOptional()
  @IsIn(FORMATS)
  defaultFormat?: DownloadFormat;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 20,
    default: 5,
    description: 'URLs of this job fetched at once',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(20)
  concurrency?: number;

  @ApiPropertyOptional({ minimum: 1000, maximum: 120000, description: 'Default DOWNLOAD_TIMEOUT_MS' })
  @IsOptional()
  @IsInt()
  @Min(1000)
  @Max(120000)
  timeoutPerUrlMs?: number;

  @ApiPropertyOptional({
    description: 'POSTed a signed batch.completed|failed|cancelled event when the job ends',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(8192)
  webhookUrl?: string;
}
