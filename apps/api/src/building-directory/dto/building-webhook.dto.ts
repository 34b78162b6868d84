import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { BuildingIdsDto } from './building-ids.dto';

/** The User Service's change feed: which buildings of which tenant changed. */
export class BuildingWebhookDto extends BuildingIdsDto {
  @ApiProperty({ example: 'acme' })
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/)
  tenantId!: string;

  @ApiProperty({ example: 'building.updated' })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  event!: string;
}
