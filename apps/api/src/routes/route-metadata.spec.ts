import { SetMetadata, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RouteMetadataCache } from './route-metadata';

const KEY = 'test:public';

class BaseController {
  list(): string {
    return 'list';
  }
}
@SetMetadata(KEY, true)
class PublicController extends BaseController {}
class PrivateController extends BaseController {}
class OwnController {
  @SetMetadata(KEY, false)
  list(): string {
    return 'own';
  }
}

/** What Nest's router hands a guard: the controller class and the handler function. */
const contextOf = (cls: new () => object, handler: (...args: never[]) => unknown): ExecutionContext =>
  ({ getClass: () => cls, getHandler: () => handler }) as unknown as ExecutionContext;

describe('RouteMetadataCache', () => {
  it('remembers per (class, handler): an inherited handler keeps each class’s own metadata', () => {
    const sut = new RouteMetadataCache<boolean>(new Reflector(), KEY);
    const shared = BaseController.prototype.list;
    expect(sut.get(contextOf(PublicController, shared))).toBe(true);
    expect(sut.get(contextOf(PrivateController, shared))).toBeUndefined();
    expect(sut.get(contextOf(PublicController, shared))).toBe(true);
    expect(sut.get(contextOf(OwnController, OwnController.prototype.list))).toBe(false);
  });

  it('reads the metadata once per pair', () => {
    const reflector = new Reflector();
    const read = jest.spyOn(reflector, 'getAllAndOverride');
    const sut = new RouteMetadataCache<boolean>(reflector, KEY);
    const shared = BaseController.prototype.list;
    for (let i = 0; i < 3; i++) {
      sut.get(contextOf(PublicController, shared));
      sut.get(contextOf(PrivateController, shared));
    }
    expect(read).toHaveBeenCalledTimes(2);
  });
});
