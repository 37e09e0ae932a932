import journal from './meta/_journal.json';
import m0000 from './0000_silky_vector.sql';
import m0001 from './0001_minor_solo.sql';

  export default {
    journal,
    migrations: {
      m0000,
m0001
    }
  }
  