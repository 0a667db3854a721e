from datasets.models import DataSet
from dds_site import mongo

def test_probe(db):
    DataSet.objects.create(id="abc", name="x", detail_status={"a": {"b": 1}})
    print(mongo.get_collection("datasets").find_one({"_id": "abc"}))
    mongo.get_collection("datasets").update_one({"_id": "abc"}, {"$set": {"detail_status.import": {"state": "running"}}})
    print(DataSet.objects.get(pk="abc").detail_status)
    print(mongo.get_collection("datasets").count_documents({"_id": "abc", "detail_status.import.state": {"$nin": ["x"]}}))
    c = mongo.get_collection("images@dataset_abc"); c.insert_many([{"_id": 1, "objects": [{"label_type": "User"}]}, {"_id": 2, "objects": [{"label_type": "GT"}], "flag": 1}, {"_id": 3, "objects": []}])
    print(list(c.find({"$or": [{"flag": {"$nin": [0, None]}}, {"objects.label_type": "User"}]}, {"_id": 1})))
