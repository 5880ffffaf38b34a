// `npm run bench [-- name ...]`: runs every benchmark (or those named) and prints each figure with
// the baseline it is measured against in the same run.
import { accountsBench } from "./accounts.bench.ts";
import { signingBench } from "./signing.bench.ts";
import { versionsBench } from "./http-versions.bench.ts";
import { roomEngineBench } from "./room-engine.bench.ts";
import { syncBench } from "./sync.bench.ts";
import { federationBench } from "./federation.bench.ts";
import { e2eeBench } from "./e2ee.bench.ts";
import { userDirectoryBench } from "./user-directory.bench.ts";
import { pushGatewayBench } from "./push-gateway.bench.ts";
import { identityBench } from "./identity.bench.ts";

const benches: Record<string, () => Promise<void>> = {
  signing: signingBench,
  "http-versions": versionsBench,
  accounts: accountsBench,
  "room-engine": roomEngineBench,
  sync: syncBench,
  federation: federationBench,
  e2ee: e2eeBench,
  "user-directory": userDirectoryBench,
  "push-gateway": pushGatewayBench,
  identity: identityBench,
};

const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(benches)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n# ${name}`);
  await run();
}
