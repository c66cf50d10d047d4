// What the app reads from GitHub about a repository and its people: permissions, the config file,
// the thread of an issue. Every call goes through the installation's Probot Octokit (throttling and
// retries included).
import type { ProbotOctokit } from 'probot';
import YAML from 'yaml';
import { CONFIG_PATH, DEFAULT_LABEL, parseConfig, type ConfigResult } from '../config.ts';
import type { FileAt } from '../workspace/repo-files.ts';
import { ownerWithoutConfig } from './economy.ts';

export type GitHub = InstanceType<typeof ProbotOctokit>;

export type Permission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

export interface RepoRef {
  owner: string;
  repo: string;
}

/** The user's role on the repository (maintain and triage included, which `permission` folds away). */
export async function permissionOf(gh: GitHub, ref: RepoRef, login: string): Promise<Permission> {
  try {
    const { data } = await gh.rest.repos.getCollaboratorPermissionLevel({ ...ref, username: login });
    const role = (data.role_name ?? data.permission) as string;
    return (['admin', 'maintain', 'write', 'triage', 'read'].includes(role) ? role : data.permission) as Permission;
  } catch (error) {
    // 404: not a collaborator at all.
    if ((error as { status?: number }).status === 404) return 'none';
    throw error;
  }
}

export const TRUSTED: Permission[] = ['admin', 'maintain', 'write'];

/** A cache of permissions for one job: a thread often has many comments by few people. */
export function permissionCache(gh: GitHub, ref: RepoRef) {
  const known = new Map<string, Promise<Permission>>();
  return (login: string) => {
    if (!known.has(login)) known.set(login, permissionOf(gh, ref, login));
    return known.get(login)!;
  };
}

/** `.github/missions.yml` through Probot's config loader (with `_extends` and the org `.github` repo). */
export async function loadConfig(gh: GitHub, ref: RepoRef): Promise<ConfigResult> {
  return (await viaLoader(gh, ref)).result;
}

/** What the loader made of the config, and whether it found any file at all. */
async function viaLoader(gh: GitHub, ref: RepoRef): Promise<{ result: ConfigResult; found: boolean }> {
  try {
    const { config } = await gh.config.get({ ...ref, path: CONFIG_PATH });
    const found = config && Object.keys(config).length ? config : null;
    return { result: parseConfig(found), found: found !== null };
  } catch (error) {
    // The loader's own errors (YAML it cannot parse, a directory at the path) are the file's fault;
    // anything else (GitHub down) is not, and goes to the caller's retry.
    const message = (error as Error).message ?? '';
    if (!message.startsWith('[@probot/octokit-plugin-config]')) throw error;
    return { result: { ok: false, problems: [message.replace('[@probot/octokit-plugin-config] ', '').split('\n')[0]!], label: DEFAULT_LABEL }, found: true };
  }
}

/**
 * The config as the default branch holds it, read through `at` from the app's clone cache just fetched: a build
 * step reads the repository's own file there instead of asking GitHub, whose answer for a missing
 * file is a 404 that no ETag spares from the rate limit. Probot's loader still answers what the
 * clone cannot: a file with `_extends` or that does not parse (its messages), and something other
 * than a file at the path. With no file, the owner's `.github` repository is asked as the loader
 * would, and its having none is remembered for 10 minutes (a config added there is seen after that).
 */
export async function loadConfigAt(gh: GitHub, ref: RepoRef, at: (path: string) => Promise<FileAt>): Promise<ConfigResult> {
  const tip = await at(CONFIG_PATH);
  if (tip.kind === 'file') {
    let parsed: unknown;
    try {
      parsed = YAML.parse(tip.text, { logLevel: 'error' }) || {};
    } catch {
      return loadConfig(gh, ref);
    }
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && !('_extends' in parsed)) return parseConfig(Object.keys(parsed).length ? parsed : null);
    return loadConfig(gh, ref);
  }
  if (tip.kind === 'other') return loadConfig(gh, ref);
  if (ref.repo === '.github') return parseConfig(null);
  const owner = `${gh.request.endpoint.DEFAULTS.baseUrl}/${ref.owner.toLowerCase()}`;
  if (ownerWithoutConfig.known(owner)) return parseConfig(null);
  const { result, found } = await viaLoader(gh, { owner: ref.owner, repo: '.github' });
  if (!found) ownerWithoutConfig.missing(owner);
  return result;
}
