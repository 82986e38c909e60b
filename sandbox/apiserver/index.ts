// The sandbox API server's public surface.
export { startApiServer, type ApiServer, type ApiServerOptions } from './server.js';
export { writeKubeconfig, addKubeconfigUser, addSandboxUser, tokenFile, type KubeconfigCluster } from './kubeconfig.js';
