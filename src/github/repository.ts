// What the app reads from GitHub about a repository and its people: permissions, the config file,
// the thread of an issue. Every call goes through the installation's Probot Octokit (throttling and
// retries included).
import type { ProbotOctokit } from 'probot';
import { CONFIG_PATH, DEFAULT_LABEL, parseConfig, type ConfigResult } from '../config.ts';

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
  try {
    const { config } = await gh.config.get({ ...ref, path: CONFIG_PATH });
    return parseConfig(config && Object.keys(config).length ? config : null);
  } catch (error) {
    // The loader's own errors (YAML it cannot parse, a directory at the path) are the file's fault;
    // anything else (GitHub down) is not, and goes to the caller's retry.
    const message = (error as Error).message ?? '';
    if (!message.startsWith('[@probot/octokit-plugin-config]')) throw error;
    return { ok: false, problems: [message.replace('[@probot/octokit-plugin-config] ', '').split('\n')[0]!], label: DEFAULT_LABEL };
  }
}
