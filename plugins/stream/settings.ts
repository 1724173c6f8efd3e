// The stream plugin's env settings, parsed at boot with the kernel's (config/).
import { positiveInt } from '../../config/env.js'

export const streamSettings = {
  HELIX_WS_MAX_BUFFER: positiveInt('1048576', 1024, 1_073_741_824, 'Bytes a WebSocket may have queued before it is closed with 4008 (slow consumer).'),
  HELIX_WS_CONNECT_RATE: positiveInt('50', 1, 1_000_000, 'WebSocket connections accepted per second from one IP address (bursts of twice that); above it `429`.')
}
