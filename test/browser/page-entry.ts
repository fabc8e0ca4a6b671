/**
 * The browser side of test/browser/browser.test.ts, bundled with esbuild: the WebGPU runtime
 * (runtime/webgpu/{device,execute}.ts, which uses navigator.gpu when present) running a manifest
 * and WGSL files fetched from the page's server, exactly as `attnc compile --target wgsl` wrote them.
 */
import { checkManifest } from "../../backends/manifest.ts";
import { WebGpuDevice } from "../../runtime/webgpu/device.ts";
import { runManifest, type HostArray } from "../../runtime/webgpu/execute.ts";

export interface PageResult {
  readonly adapter: string;
  readonly outputs: { dtype: string; shape: number[]; data: number[] }[];
  readonly errorFlag: boolean;
  readonly launches: number;
}

async function run(dir: string, inputs: Record<string, HostArray>, dims: Record<string, number>): Promise<PageResult> {
  const manifest = checkManifest(await (await fetch(`${dir}/manifest.json`)).json());
  const kernels = new Map<string, string>();
  for (const k of manifest.kernels) kernels.set(k.file, await (await fetch(`${dir}/${k.file}`)).text());
  const dev = await WebGpuDevice.open();
  try {
    const r = await runManifest(manifest, (f) => kernels.get(f)!, dev, inputs, dims);
    // NaN and ±inf do not survive JSON: send them as strings
    const enc = (x: number) => (Number.isFinite(x) ? x : (String(x) as unknown as number));
    return { adapter: dev.adapterName, outputs: r.outputs.map((o) => ({ dtype: o.dtype, shape: o.shape, data: [...o.data].map(enc) })), errorFlag: r.errorFlag, launches: r.launches };
  } finally {
    dev.destroy();
  }
}

(globalThis as unknown as { attncRun: typeof run }).attncRun = run;
