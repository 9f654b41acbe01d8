type Child = Node | string;

/**
 * An element with attributes and children. Text always goes in as text nodes: failure details are a
 * target's response bodies, never to be parsed as HTML.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children);
  return element;
}

/** The element with this id, which index.html has. */
export function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`index.html has no #${id}`);
  return element as T;
}

/** A form's named control. */
export function field<T extends HTMLInputElement | HTMLSelectElement>(form: HTMLFormElement, name: string): T {
  return form.elements.namedItem(name) as T;
}

/** A select's options: the given names, keeping the choice when it is still one of them. */
export function setOptions(select: HTMLSelectElement, names: readonly string[], chosen: string): void {
  select.replaceChildren(...names.map((name) => el("option", { value: name, selected: name === chosen }, name)));
}
