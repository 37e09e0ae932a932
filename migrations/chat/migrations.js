import journal from './meta/_journal.json';
import m0000 from './0000_green_johnny_blaze.sql';
import m0001 from './0001_material_king_cobra.sql';
import m0002 from './0002_wild_yellow_claw.sql';

  export default {
    journal,
    migrations: {
      m0000,
m0001,
m0002
    }
  }
  