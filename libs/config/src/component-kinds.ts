/** The components the relay runs. */
export const componentKinds = ["pyroscope.receive_http", "pyroscope.relabel", "pyroscope.write"] as const;
export type ComponentKind = (typeof componentKinds)[number];

export function isComponentKind(name: string): name is ComponentKind {
  return (componentKinds as readonly string[]).includes(name);
}
