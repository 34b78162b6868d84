import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance, Transform } from 'class-transformer';
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
import { JobReadOptions, TimeoutPerUrlMs, JobWebhookUrl } from './job-options.decorators';
import { ReadOptionsDto } from './read-options.dto';
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

const URL_ENTRY = 'a URL string or an object {"url": "…", "format"?: "…"}';

/** `"https://…"` is shorthand for `{"url": "https://…"}` (the job's defaultFormat applies). */
function toUrlEntries({ value }: { value: unknown }): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((entry: unknown) => {
    if (typeof entry === 'string') return plainToInstance(BatchUrlDto, { url: entry });
    if (entry !== null && typeof entry === 'object' && !(entry instanceof BatchUrlDto))
      return plainToInstance(BatchUrlDto, entry);
    return entry; // anything else fails the nested check below, with URL_ENTRY's message
  });
}

export class BatchRequestDto {
  @ApiProperty({
    description: `1..BATCH_MAX_URLS (default 100) entries, each ${URL_ENTRY}`,
    type: 'array',
    items: { oneOf: [{ type: 'string' }, { $ref: '#/components/schemas/BatchUrlDto' }] },
  })
  @IsArray({ message: `urls must be an array whose entries are each ${URL_ENTRY}` })
  @ArrayMinSize(1)
  @ArrayMaxSize(1000) // the configured BATCH_MAX_URLS (≤ 1000) is checked by the service
  @ValidateNested({ each: true, message: `each entry of urls must be ${URL_ENTRY}` })
  @Transform(toUrlEntries)
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

  @TimeoutPerUrlMs()
  timeoutPerUrlMs?: number;

  @JobReadOptions()
  read?: ReadOptionsDto;

  @JobWebhookUrl('batch')
  webhookUrl?: string;
}
