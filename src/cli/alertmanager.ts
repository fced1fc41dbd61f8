/** The `--alertmanager` options shared by `watch` and `report`, validated into a client configuration. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { parseDuration } from '../parse/time.js';
import type { AlertSettings } from '../deliver/alertmanager-client.js';

const collect = (v: string, prev: string[]) => [...prev, v];

/** Add the Alertmanager options; `resolveDefault` is how long an alert stays up after its finding's last sighting. */
export function addAlertmanagerOptions(cmd: Command, resolveDefault: string): Command {
  return cmd
    .option(
      '--alertmanager <url>',
      "post findings as alerts to this Alertmanager's v2 API (repeatable: every member of a cluster); http://user:password@host:9093 for basic auth",
      collect,
      [],
    )
    .option('--alertmanager-ca <file>', "PEM CA certificates to verify the Alertmanager's TLS certificate (https://)")
    .option('--alertmanager-insecure', "do not verify the Alertmanager's TLS certificate")
    .option('--alertmanager-token-file <file>', 'send the token in this file as Authorization: Bearer')
    .option('--alert-resolve <duration>', 'resolve an alert when its finding has not recurred for this long', resolveDefault);
}

function readSmall(option: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`--${option}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The validated options, or null without --alertmanager. Bad values are usage errors (exit 3). */
export function alertSettings(o: Record<string, unknown>): AlertSettings | null {
  const urls = (o.alertmanager as string[] | undefined) ?? [];
  if (urls.length === 0) {
    for (const name of ['alertmanagerCa', 'alertmanagerInsecure', 'alertmanagerTokenFile'])
      if (o[name] !== undefined) throw new CliError(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --alertmanager URL`);
    return null;
  }
  for (const u of urls) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new CliError(`--alertmanager: "${u}" is not a URL`, 'give http://host:9093 or https://host/alertmanager');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new CliError(`--alertmanager: "${url.protocol}" is not http: or https:`, 'give http://host:9093 or https://host/alertmanager');
  }
  const resolveAfterMs = parseDuration(String(o.alertResolve));
  if (resolveAfterMs === null || resolveAfterMs < 1000)
    throw new CliError(`--alert-resolve: cannot read "${String(o.alertResolve)}"`, 'give a duration of at least 1s such as 15m or 2h');
  const token =
    typeof o.alertmanagerTokenFile === 'string' ? readSmall('alertmanager-token-file', o.alertmanagerTokenFile).trim() : undefined;
  if (token !== undefined && (token === '' || /[\r\n]/.test(token)))
    throw new CliError(`--alertmanager-token-file: ${String(o.alertmanagerTokenFile)} must hold one token on one line`);
  return {
    config: {
      urls,
      ca: typeof o.alertmanagerCa === 'string' ? readSmall('alertmanager-ca', o.alertmanagerCa) : undefined,
      insecure: o.alertmanagerInsecure === true,
      bearer: token,
    },
    resolveAfterMs,
  };
}
