/**
 * Swagger UI's files from the swagger-ui-dist package, on every runtime: Node
 * reads them from node_modules once; in a Worker bundle they are text modules
 * (./bundled.ts), imported only where Node's file system is absent.
 */
export type SwaggerAssetName = 'swagger-ui.css' | 'swagger-ui-bundle.js';

type NodeFs = typeof import('node:fs');
type NodeModule = typeof import('node:module');
const builtin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;

const loaded = new Map<SwaggerAssetName, Promise<string>>();

async function load(name: SwaggerAssetName): Promise<string> {
  const fs = builtin?.('node:fs') as NodeFs | undefined;
  const mod = builtin?.('node:module') as NodeModule | undefined;
  if (fs && mod) {
    try {
      return fs.readFileSync(mod.createRequire(import.meta.url).resolve(`swagger-ui-dist/${name}`), 'utf8');
    } catch {
      // A Worker with nodejs_compat has node:fs but no node_modules: use the bundled copy.
    }
  }
  const bundled = await import('./bundled.js');
  return bundled.SWAGGER_ASSETS[name];
}

export function loadSwaggerAsset(name: SwaggerAssetName): Promise<string> {
  let text = loaded.get(name);
  if (!text) {
    text = load(name);
    text.catch(() => loaded.delete(name));
    loaded.set(name, text);
  }
  return text;
}
