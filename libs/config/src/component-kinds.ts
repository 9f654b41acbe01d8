/** The components the relay runs. */
export const componentKinds = ["pyroscope.receive_http", "pyroscope.write"] as const;
export type ComponentKind = (typeof componentKinds)[number];

export function isComponentKind(name: string): name is ComponentKind {
  return (componentKinds as readonly string[]).includes(name);
}
