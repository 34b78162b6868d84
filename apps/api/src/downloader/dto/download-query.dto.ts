import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { DownloadFormat, FORMATS } from '../formats';

export class DownloadQueryDto {
  @ApiProperty({ description: 'The URL to fetch (URL-encoded); its own query string is kept intact' })
  @IsString()
  @MinLength(1)
  @MaxLength(8192)
  url!: string;

  @ApiPropertyOptional({ enum: FORMATS, description: 'Default: negotiated from Accept, else text' })
  @IsOptional()
  @IsIn(FORMATS)
  format?: DownloadFormat;
}
