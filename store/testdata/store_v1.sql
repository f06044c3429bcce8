PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL);
INSERT INTO meta VALUES('format','amoeba-store-1');
INSERT INTO meta VALUES('search_id','s-c8b9409b6507');
CREATE TABLE config (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL);
INSERT INTO config VALUES('algorithm','aging');
INSERT INTO config VALUES('population_size','4');
INSERT INTO config VALUES('sample_size','2');
INSERT INTO config VALUES('budget','10');
INSERT INTO config VALUES('seed','3');
INSERT INTO config VALUES('deduplicate','false');
INSERT INTO config VALUES('dataset','fashion_mnist');
INSERT INTO config VALUES('cells_per_stack','1');
INSERT INTO config VALUES('filters','8');
INSERT INTO config VALUES('epochs','1');
INSERT INTO config VALUES('batch_size','64');
INSERT INTO config VALUES('learning_rate','0.05');
INSERT INTO config VALUES('weight_decay','0.0005');
INSERT INTO config VALUES('validation_images','1000');
INSERT INTO config VALUES('max_train_images','2000');
INSERT INTO config VALUES('training_seed','1');
CREATE TABLE engine_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  rng0 INTEGER NOT NULL, rng1 INTEGER NOT NULL,
  rng2 INTEGER NOT NULL, rng3 INTEGER NOT NULL,
  next_id INTEGER NOT NULL,
  completed INTEGER NOT NULL);
INSERT INTO engine_state VALUES(1,8192156635004667864,-7512769438456892988,-7276081790472931039,-2606644179802194127,11,10);
CREATE TABLE models (
  id INTEGER PRIMARY KEY,
  genotype TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  parent_id INTEGER NOT NULL,
  mutation TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  worker_id TEXT NOT NULL,
  created_at REAL NOT NULL,
  started_at REAL NOT NULL,
  finished_at REAL NOT NULL,
  fitness REAL NOT NULL,
  parameters INTEGER NOT NULL,
  multiply_adds INTEGER NOT NULL,
  train_seconds REAL NOT NULL,
  epoch INTEGER NOT NULL,
  failure TEXT NOT NULL,
  evaluator TEXT NOT NULL,
  completion_seq INTEGER NOT NULL,
  alive INTEGER NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0);
INSERT INTO models VALUES(1,'normal: none(0)+sep_conv_3x3(0) sep_conv_5x5(2)+dil_sep_conv_3x3(2) sep_conv_3x3(0)+avg_pool_3x3(1) avg_pool_3x3(3)+conv_1x7_7x1(3) avg_pool_3x3(1)+dil_sep_conv_3x3(3); reduction: max_pool_3x3(0)+conv_1x7_7x1(0) conv_1x7_7x1(0)+none(1) dil_sep_conv_3x3(1)+sep_conv_5x5(2) max_pool_3x3(1)+sep_conv_5x5(3) max_pool_3x3(0)+dil_sep_conv_3x3(1)','3b2b9aa661dcbdad',-1,'random','done',1,'vm:cpu',1795909445.5013251304,1795909445.5013251304,1795909445.5538241862,0.59918083057001225721,0,0,0.050939491000000003406,1,'','simulated',1,0,0);
INSERT INTO models VALUES(2,'normal: max_pool_3x3(1)+conv_1x7_7x1(1) sep_conv_5x5(1)+avg_pool_3x3(1) sep_conv_3x3(2)+sep_conv_7x7(2) max_pool_3x3(1)+conv_1x7_7x1(1) avg_pool_3x3(3)+avg_pool_3x3(5); reduction: none(1)+max_pool_3x3(1) sep_conv_7x7(1)+max_pool_3x3(2) none(1)+sep_conv_7x7(2) none(1)+sep_conv_5x5(4) dil_sep_conv_3x3(2)+none(5)','6d8790b3b937df51',-1,'random','done',1,'vm:cpu',1795909445.5538241862,1795909445.5538241862,1795909445.6060872077,0.68813629846788582078,0,0,0.050522543000000003088,1,'','simulated',2,0,0);
INSERT INTO models VALUES(3,'normal: dil_sep_conv_3x3(0)+max_pool_3x3(1) sep_conv_7x7(0)+none(1) sep_conv_5x5(0)+dil_sep_conv_3x3(0) sep_conv_3x3(1)+sep_conv_3x3(2) none(4)+max_pool_3x3(4); reduction: max_pool_3x3(0)+none(1) max_pool_3x3(0)+avg_pool_3x3(2) none(3)+dil_sep_conv_3x3(3) sep_conv_7x7(0)+sep_conv_5x5(2) max_pool_3x3(2)+avg_pool_3x3(3)','90020ce93d4b860a',-1,'random','done',1,'vm:cpu',1795909445.6060872077,1795909445.6060872077,1795909445.6583480835,0.75427794775549750205,0,0,0.050563635000000002606,1,'','simulated',3,0,0);
INSERT INTO models VALUES(4,'normal: sep_conv_3x3(0)+dil_sep_conv_3x3(1) max_pool_3x3(1)+dil_sep_conv_3x3(2) max_pool_3x3(2)+sep_conv_7x7(3) sep_conv_7x7(1)+sep_conv_3x3(3) max_pool_3x3(3)+max_pool_3x3(5); reduction: none(1)+conv_1x7_7x1(1) max_pool_3x3(0)+max_pool_3x3(1) conv_1x7_7x1(0)+avg_pool_3x3(1) sep_conv_7x7(0)+sep_conv_3x3(1) sep_conv_3x3(1)+avg_pool_3x3(3)','805ab0e619fea552',-1,'random','done',1,'vm:cpu',1795909445.6583480835,1795909445.6583480835,1795909445.7108047008,0.72355076368159998434,0,0,0.050665781999999999485,1,'','simulated',4,0,0);
INSERT INTO models VALUES(5,'normal: dil_sep_conv_3x3(0)+max_pool_3x3(1) sep_conv_7x7(0)+none(1) sep_conv_5x5(0)+dil_sep_conv_3x3(0) sep_conv_3x3(2)+sep_conv_3x3(3) none(4)+max_pool_3x3(4); reduction: max_pool_3x3(0)+none(1) max_pool_3x3(0)+avg_pool_3x3(2) none(3)+dil_sep_conv_3x3(3) sep_conv_7x7(0)+sep_conv_5x5(2) max_pool_3x3(2)+avg_pool_3x3(3)','a914d1ce3f0b26ca',3,'hidden_state: normal cell, combination 3, first element: input 1 -> 3','done',1,'vm:cpu',1795909445.7108047008,1795909445.7108047008,1795909445.7633836269,0.79679142758307441862,0,0,0.050647644999999998083,1,'','simulated',5,0,0);
INSERT INTO models VALUES(6,'normal: dil_sep_conv_3x3(0)+max_pool_3x3(1) sep_conv_7x7(0)+none(1) sep_conv_5x5(0)+dil_sep_conv_3x3(0) sep_conv_3x3(2)+sep_conv_3x3(3) none(4)+max_pool_3x3(4); reduction: max_pool_3x3(0)+none(1) max_pool_3x3(0)+avg_pool_3x3(2) none(3)+dil_sep_conv_3x3(3) sep_conv_7x7(0)+sep_conv_5x5(2) max_pool_3x3(2)+avg_pool_3x3(3)','a914d1ce3f0b26ca',5,'identity','done',1,'vm:cpu',1795909445.7633836269,1795909445.7633836269,1795909445.8159823417,0.78937655842412879358,0,0,0.050667338999999998738,1,'','simulated',6,0,0);
INSERT INTO models VALUES(7,'normal: dil_sep_conv_3x3(0)+max_pool_3x3(1) sep_conv_7x7(0)+none(1) sep_conv_5x5(0)+dil_sep_conv_3x3(0) sep_conv_3x3(2)+sep_conv_3x3(3) none(4)+max_pool_3x3(4); reduction: max_pool_3x3(0)+none(1) max_pool_3x3(0)+avg_pool_3x3(2) none(3)+dil_sep_conv_3x3(3) sep_conv_7x7(0)+sep_conv_5x5(2) max_pool_3x3(2)+avg_pool_3x3(3)','a914d1ce3f0b26ca',5,'identity','done',1,'vm:cpu',1795909445.8159823417,1795909445.8159823417,1795909445.8685662746,0.79058017541074465661,0,0,0.050693558999999999148,1,'','simulated',7,1,0);
INSERT INTO models VALUES(8,'normal: dil_sep_conv_3x3(0)+max_pool_3x3(1) sep_conv_7x7(0)+none(1) sep_conv_5x5(0)+dil_sep_conv_3x3(0) sep_conv_3x3(2)+sep_conv_3x3(3) none(4)+max_pool_3x3(4); reduction: max_pool_3x3(0)+none(1) max_pool_3x3(0)+avg_pool_3x3(2) none(3)+dil_sep_conv_3x3(3) sep_conv_7x7(0)+max_pool_3x3(2) max_pool_3x3(2)+avg_pool_3x3(3)','e92eb98d7437f892',5,'op: reduction cell, combination 3, second element: sep_conv_5x5 -> max_pool_3x3','done',1,'vm:cpu',1795909445.8685662746,1795909445.8685662746,1795909445.9211189746,0.91382679191455173928,0,0,0.050655031000000003138,1,'','simulated',8,1,0);
INSERT INTO models VALUES(9,'normal: dil_sep_conv_3x3(0)+max_pool_3x3(1) sep_conv_7x7(0)+none(1) sep_conv_5x5(0)+dil_sep_conv_3x3(0) sep_conv_3x3(2)+sep_conv_3x3(3) none(4)+avg_pool_3x3(4); reduction: max_pool_3x3(0)+none(1) max_pool_3x3(0)+avg_pool_3x3(2) none(3)+dil_sep_conv_3x3(3) sep_conv_7x7(0)+max_pool_3x3(2) max_pool_3x3(2)+avg_pool_3x3(3)','1a831cd82990d9f9',8,'op: normal cell, combination 4, second element: max_pool_3x3 -> avg_pool_3x3','done',1,'vm:cpu',1795909445.9211189746,1795909445.9211189746,1795909445.973546505,0.54971419672123555955,0,0,0.050564851000000000935,1,'','simulated',9,1,0);
INSERT INTO models VALUES(10,'normal: dil_sep_conv_3x3(0)+max_pool_3x3(1) sep_conv_7x7(0)+none(1) sep_conv_5x5(0)+dil_sep_conv_3x3(0) sep_conv_3x3(2)+sep_conv_3x3(3) none(4)+max_pool_3x3(4); reduction: max_pool_3x3(0)+none(1) max_pool_3x3(0)+avg_pool_3x3(2) none(3)+dil_sep_conv_3x3(3) sep_conv_7x7(0)+sep_conv_5x5(2) avg_pool_3x3(3)+max_pool_3x3(4)','0890796481b09905',7,'hidden_state: reduction cell, combination 4, first element: input 2 -> 4','done',1,'vm:cpu',1795909445.973546505,1795909445.973546505,1795909446.0259959697,0.51621989703724679987,0,0,0.050545579000000000202,1,'','simulated',10,1,0);
CREATE INDEX models_by_state ON models(state, fitness);
CREATE INDEX models_by_finish ON models(finished_at);
CREATE INDEX models_alive ON models(completion_seq) WHERE alive = 1;
COMMIT;
