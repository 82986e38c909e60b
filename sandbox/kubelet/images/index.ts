// Which image runtime runs a container: Redis images, or the generic one (host commands, inert operators, reboot).
import type { ContainerPlan, ImageInput } from './types.js';
import { isRedisImage, planRedis } from './redis.js';
import { isOperatorImage, isRebootCommand, planGeneric } from './generic.js';

export type { ContainerPlan, ImageInput } from './types.js';

export function planContainer(input: ImageInput): ContainerPlan {
  const image = input.container.image ?? '';
  const argv = [...(input.command ?? []), ...(input.args ?? [])];
  if (!isRebootCommand(argv) && !isOperatorImage(image) && isRedisImage(image)) return planRedis(input);
  return planGeneric(input);
}
