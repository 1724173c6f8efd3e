// The orchestrator's env settings, parsed at boot with the kernel's (config/).
import { positiveInt } from '../../config/env.js'

export const orchestratorSettings = {
  HELIX_COMMAND_TIMEOUT_MS: positiveInt('30000', 100, 3_600_000, 'Default deadline of an agent command.'),
  HELIX_RETENTION_DAYS: positiveInt('30', 1, 36_500, 'Days finished commands, UCF history, finished rituals and resolved alerts are kept before the owner prunes them.')
}
