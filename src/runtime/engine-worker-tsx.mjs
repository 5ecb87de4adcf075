// Where tsx runs the sources (`npm start`): the engine thread's entry through tsx's loader, which its
// `--import` registers on the main thread only (engine-thread.ts).
import { register } from 'tsx/esm/api';

register();
await import('./engine-worker.ts');
