import journal from './meta/_journal.json';
import m0000 from './0000_silky_vector.sql';
import m0001 from './0001_minor_solo.sql';
import m0002 from './0002_sturdy_photon.sql';
import m0003 from './0003_closed_bug.sql';
import m0004 from './0004_big_ogun.sql';
import m0005 from './0005_lonely_tomorrow_man.sql';

  export default {
    journal,
    migrations: {
      m0000,
m0001,
m0002,
m0003,
m0004,
m0005
    }
  }
  