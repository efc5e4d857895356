// Small caches shared by views: children's members (for names and read
// receipts). Cleared on logout.

import { get } from './api.js';

const members = new Map(); // child_id -> Promise<[Member]>

export function getMembers(childId, force = false) {
  if (force || !members.has(childId)) {
    const p = get(`/children/${childId}/members`);
    members.set(childId, p);
    p.catch(() => members.delete(childId));
  }
  return members.get(childId);
}

export function setMembers(childId, list) {
  members.set(childId, Promise.resolve(list));
}

export function clear() { members.clear(); }
