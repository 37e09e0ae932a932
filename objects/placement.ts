/**
 * Durable Object ids in a jurisdiction: `namespace.jurisdiction(j).idFromName(name)`, whose
 * objects run and store only there. Local workerd implements no jurisdictions (it throws); in
 * local development only (`DEV_AUTH` "true") a jurisdiction is then emulated by a name of its
 * own in the plain namespace, so that, as on the platform, the same name gives another object
 * than the default namespace's. Anywhere else the error stands: nothing is placed elsewhere.
 */
import type { Jurisdiction } from "../protocol";

const NOT_IN_WORKERD = "Jurisdiction restrictions are not implemented in workerd.";

/** What the emulation names an object of `name` in `jurisdiction`: no chat or relay name starts with `@`. */
export function emulatedName(jurisdiction: Jurisdiction, name: string): string {
  return `@${jurisdiction}/${name}`;
}

export function placedId<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  jurisdiction: Jurisdiction | undefined,
  name: string,
  local: boolean,
): DurableObjectId {
  if (!jurisdiction) return namespace.idFromName(name);
  try {
    return namespace.jurisdiction(jurisdiction).idFromName(name);
  } catch (err) {
    if (!local || !(err instanceof Error) || err.message !== NOT_IN_WORKERD) throw err;
    return namespace.idFromName(emulatedName(jurisdiction, name));
  }
}
