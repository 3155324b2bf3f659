declare const __PLUGIN_VERSION__: string | undefined;

/** The plugin version, injected at build time (`VERSION=v1.2.3 npm run build`). */
export const PLUGIN_VERSION: string = typeof __PLUGIN_VERSION__ === 'string' ? __PLUGIN_VERSION__ : 'development';

export const PLUGIN_NAME = 'cq-source-s3';
