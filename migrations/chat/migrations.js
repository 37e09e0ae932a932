import journal from './meta/_journal.json';
import m0000 from './0000_green_johnny_blaze.sql';
import m0001 from './0001_material_king_cobra.sql';
import m0002 from './0002_wild_yellow_claw.sql';
import m0003 from './0003_swift_weapon_omega.sql';
import m0004 from './0004_mature_punisher.sql';
import m0005 from './0005_material_hellion.sql';
import m0006 from './0006_narrow_thor_girl.sql';
import m0007 from './0007_clammy_sabretooth.sql';

  export default {
    journal,
    migrations: {
      m0000,
m0001,
m0002,
m0003,
m0004,
m0005,
m0006,
m0007
    }
  }
  