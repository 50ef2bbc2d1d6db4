import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { malformed } from '../errors.js';
import { readText } from '../files.js';

/** Where this process sits in the cgroup v2 hierarchy. */
export interface CgroupLocation {
  /** Path inside the hierarchy, e.g. `/kubepods.slice/pod1/ctr`. */
  path: string;
  /** The process's cgroup directory first, then each ancestor up to the root. */
  dirs: string[];
}

/**
 * The cgroup v2 path from `/proc/self/cgroup` (its `0::/path` line); `undefined` when the
 * process is only in cgroup v1 hierarchies.
 */
export function parseProcSelfCgroup(text: string, path: string): string | undefined {
  let sawLine = false;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    sawLine = true;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) malformed(path, '"id:controllers:path" lines', line);
    if (line.slice(0, first) === '0' && second === first + 1) {
      const cgroupPath = line.slice(second + 1);
      if (!cgroupPath.startsWith('/')) malformed(path, 'an absolute cgroup path after "0::"', line);
      return cgroupPath;
    }
  }
  if (!sawLine) malformed(path, 'at least one "id:controllers:path" line', text);
  return undefined;
}

/**
 * Finds this process's cgroup v2 directory under `cgroupRoot` and its ancestors, whose limits
 * bind it too (a pod's limit sits on a parent of the container's cgroup). Throws a
 * `MonitorError` on malformed content; returns a reason when there is no cgroup v2.
 */
export function locateCgroup(procRoot: string, cgroupRoot: string): CgroupLocation | { missing: string } {
  if (!existsSync(join(cgroupRoot, 'cgroup.controllers'))) return { missing: `cgroup v2 is not mounted at ${cgroupRoot} (no cgroup.controllers)` };
  const file = join(procRoot, 'self', 'cgroup');
  const text = readText(file);
  if (text === undefined) return { missing: `${file} not found` };
  const path = parseProcSelfCgroup(text, file);
  if (path === undefined) return { missing: `${file} has no cgroup v2 entry (cgroup v1 only)` };
  // Inside a container with its own cgroup namespace the path is "/" and the mount is the
  // container's own cgroup; a path that is not under the mount (another namespace) falls back
  // to the mount itself.
  let own = join(cgroupRoot, path);
  let shown = path;
  if (path.includes('/..') || !existsSync(own)) {
    own = cgroupRoot;
    shown = '/';
  }
  const dirs = [own];
  for (let p = shown; p !== '/'; ) {
    p = posix.dirname(p);
    dirs.push(join(cgroupRoot, p));
  }
  return { path: shown, dirs };
}
