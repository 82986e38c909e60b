// The mini operators of one cluster. Each runs as a loop inside the sandbox process but acts only while its
// Deployment (created by a preset in the operator's own namespace) has a ready pod: `kubectl scale --replicas 0`
// stops it, as in life. They are installed by presets (CRDs + Deployment), not here.
import type { ClusterContext } from '../core/context.js';
import type { Loop } from '../controllers/util.js';
import { startOtOperator } from './ot.js';
import { startSpotahomeOperator } from './spotahome.js';
import { startUcloudOperator } from './ucloud.js';

export async function startOperators(ctx: ClusterContext): Promise<{ stop(): Promise<void> }> {
  const loops: Loop[] = [startOtOperator(ctx), startSpotahomeOperator(ctx), startUcloudOperator(ctx)];
  return {
    async stop() {
      await Promise.all(loops.map((l) => l.stop()));
    },
  };
}
