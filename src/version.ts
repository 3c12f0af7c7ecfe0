/** The version users pin, from package.json: the one place it is written. The bundle inlines it. */
import pkg from '../package.json' with { type: 'json' }

export const VERSION: string = pkg.version
