import journal from './meta/_journal.json';
import m0000 from './0000_green_johnny_blaze.sql';
import m0001 from './0001_material_king_cobra.sql';

  export default {
    journal,
    migrations: {
      m0000,
m0001
    }
  }
  