#!/usr/bin/env node
// pdp-gateway --config gateway.yaml: the MCP enforcement point.
import { parseArgs } from 'node:util';

import { loadConfigFile } from './config.js';
import { Gateway } from './gateway.js';
import { jsonLogger } from './log.js';
import { PdpClient } from './pdp_client.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help || !values.config) {
    process.stderr.write('usage: pdp-gateway --config gateway.yaml   (docs/gateway.md)\n');
    return values.help ? 0 : 2;
  }
  const loaded = loadConfigFile(values.config);
  if (!loaded.ok) {
    for (const i of loaded.issues) process.stderr.write(`${values.config}: ${i.path || '(top)'}: ${i.message}\n`);
    return 1;
  }
  const log = jsonLogger();
  let pdp: PdpClient;
  try {
    pdp = PdpClient.create(loaded.config.pdp);
  } catch (e) {
    process.stderr.write(`pdp-gateway: ${(e as Error).message}\n`);
    return 1;
  }
  const gw = await Gateway.start(loaded.config, { pdp, log });
  const stop = (): void => {
    log.info('stopping');
    gw.close().then(() => {
      pdp.close();
      process.exit(0);
    }, () => process.exit(1));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`pdp-gateway: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  },
);
