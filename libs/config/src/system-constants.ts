import { hostname } from "node:os";

/** Node's names for platforms and architectures where Go (and so Alloy) uses others. */
const goOperatingSystems: Record<string, string> = { win32: "windows", sunos: "solaris" };
const goArchitectures: Record<string, string> = { x64: "amd64", ia32: "386", ppc64: "ppc64le", mipsel: "mipsle" };

export function goOs(platform: string): string {
  return goOperatingSystems[platform] ?? platform;
}

export function goArch(arch: string): string {
  return goArchitectures[arch] ?? arch;
}

/**
 * Alloy's `constants`, named as Go names them so that configurations compare them with the same
 * strings. `version` is Alloy's version in Alloy; the relay is not Alloy, so it reports what an Alloy
 * build without version information does.
 */
export function systemConstants(): Record<string, string> {
  return { hostname: hostname(), os: goOs(process.platform), arch: goArch(process.arch), version: "v0.0.0" };
}
